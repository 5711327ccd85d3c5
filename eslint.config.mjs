import tseslint from 'typescript-eslint'

export default tseslint.config(
  // monorepo-check/layout holds Segment's repository's own configuration, linted by its own ESLint there.
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', 'monorepo-check/**'] },
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
    // Destination folders are copied into Segment's action-destinations repository, whose Prettier
    // (2.4.1) cannot parse inline `type` modifiers and whose compiler stops at ES2020 and Node 18.
    files: ['src/destinations/**/*.ts'],
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
      ],
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
    // jest's asymmetric matchers (expect.any, expect.stringContaining…) are typed `any`. Not in
    // destination folders: Segment's repository lints their tests with this rule on.
    files: ['**/*.test.ts'],
    ignores: ['src/destinations/**'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' }
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked]
  }
)
