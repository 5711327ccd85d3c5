import tseslint from 'typescript-eslint'

// Package boundaries (docs/development.md, "Layout"): a package reaches another only through its public
// module, and only in the direction pipeline → sandbox → destinations (the sandbox's tests use
// the destinations; the destinations use nothing of either).
const insideDestinations = {
  regex: '^actions-ortto/|(^|/)destinations/(src|scripts|test)(/|$)',
  message:
    "Import the destinations package only through its public module, `from 'actions-ortto'` (packages/destinations/src/index.ts); export what you need there."
}
const insideSandbox = {
  regex: '^ortto-sandbox/|(^|/)ortto-sandbox/',
  message:
    "Import the sandbox package only through its public module, `from 'ortto-sandbox'` (packages/ortto-sandbox/src/index.ts); export what you need there."
}
const pipelineFromBelow = {
  regex: '^ortto-local-pipeline(/|$)|(^|/)local-pipeline/',
  message: 'The pipeline builds on the sandbox and the destinations: they import nothing of it.'
}
const sandboxFromDestinations = {
  regex: '^ortto-sandbox(/|$)|(^|/)ortto-sandbox/',
  message:
    'The destinations package imports nothing of the sandbox: the sandbox tests the destinations, not the reverse.'
}
const destinationsFromSandboxCode = {
  regex: '^actions-ortto(/|$)',
  message:
    "The sandbox reads Ortto's contract on its own (src/sandbox/contract.ts) and needs nothing at run time: only its tests use the destinations."
}
const clientFileFromAudiences = {
  regex: '(^|/)ortto/client/',
  message: "Ortto (Audiences) reaches the shared client only through its index: `from '../ortto/client'`."
}
const restrictedImports = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] })

export default tseslint.config(
  // monorepo-check/layout holds Segment's repository's own configuration, linted by its own ESLint there.
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      'packages/destinations/monorepo-check/**',
      '**/reports/**',
      '**/.stryker-tmp/**'
    ]
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }]
    }
  },
  {
    // The destinations package compiles at ES2020 and Node 18's level, those of Segment's
    // action-destinations repository (its tsconfig); Node's types still declare newer globals.
    files: ['packages/destinations/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'structuredClone', message: 'Not in ES2020; copy the value explicitly.' }
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Object', property: 'hasOwn', message: 'Not in ES2020; use Object.prototype.hasOwnProperty.call.' }
      ]
    }
  },
  {
    // Destination folders are copied into Segment's repository, whose Prettier (2.4.1) cannot
    // parse inline `type` modifiers.
    files: ['packages/destinations/src/destinations/**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports' }
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportSpecifier[importKind='type'], ExportSpecifier[exportKind='type']",
          message: "Prettier 2.4.1 cannot parse inline 'type' modifiers: use a separate `import type { … }` line."
        }
      ]
    }
  },
  {
    files: ['packages/local-pipeline/**'],
    rules: restrictedImports(insideDestinations, insideSandbox)
  },
  {
    files: ['packages/ortto-sandbox/**', 'test/**'],
    rules: restrictedImports(insideDestinations, insideSandbox, pipelineFromBelow)
  },
  {
    files: ['packages/ortto-sandbox/src/**'],
    ignores: ['**/__tests__/**'],
    rules: restrictedImports(insideDestinations, insideSandbox, pipelineFromBelow, destinationsFromSandboxCode)
  },
  {
    files: ['packages/destinations/**'],
    rules: restrictedImports(sandboxFromDestinations, pipelineFromBelow)
  },
  {
    files: ['packages/destinations/src/destinations/ortto-audiences/**'],
    rules: restrictedImports(sandboxFromDestinations, pipelineFromBelow, clientFileFromAudiences)
  },
  {
    // jest's asymmetric matchers (expect.any, expect.stringContaining…) are typed `any`. Not in
    // destination folders: Segment's repository lints their tests with this rule on.
    files: ['**/*.test.ts'],
    ignores: ['packages/destinations/src/destinations/**'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' }
  },
  {
    // A property run that fails must fail again with the same values, on any machine: seeded and
    // bounded by its count of runs, never by a time limit (a loaded machine would cut it short).
    files: ['test/**/*.ts', 'packages/*/test/**/*.ts', '**/*.property.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.object.name='fc'][callee.property.name='assert']:not(:has(Property[key.name='seed']))",
          message: 'Seed every fast-check run: fc.assert(property, { seed, numRuns }).'
        },
        {
          selector:
            "CallExpression[callee.object.name='fc'][callee.property.name='assert']:not(:has(Property[key.name='numRuns']))",
          message: 'Bound every fast-check run by a count: fc.assert(property, { seed, numRuns }).'
        },
        {
          selector:
            "CallExpression[callee.object.name='fc'][callee.property.name='assert'] > ObjectExpression > Property[key.name=/^(interruptAfterTimeLimit|skipAllAfterTimeLimit|markInterruptAsFailure|timeout)$/]",
          message: 'Bound property runs by numRuns, never by time: a slow machine would fail or cut them.'
        }
      ]
    }
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked]
  },
  {
    // Plain CommonJS: jest's configurations and the TypeScript preload load what they need with require.
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  }
)
