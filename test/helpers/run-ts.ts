/**
 * Runs one of this repository's TypeScript entry points (e.g. src/sandbox/cli.ts) in a child
 * process, straight from its sources (see register-ts.js), for tests that need a real process:
 * one they can kill, or whose output and exit code are the thing under test.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import * as path from 'node:path'

const REGISTER = path.join(__dirname, 'register-ts.js')
const REPOSITORY = path.join(__dirname, '..', '..')

export interface TsProcess {
  child: ChildProcess
  stdout: string[]
  stderr: string[]
  /** Resolves with the first stdout line matching `pattern`; rejects if the process exits first or time runs out. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export function spawnTs(script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): TsProcess {
  // The workspace packages it imports resolve to their sources too (their "exports" condition).
  const child = spawn(
    process.execPath,
    ['--conditions=ortto-source', '-r', REGISTER, path.resolve(REPOSITORY, script), ...args],
    {
      cwd: REPOSITORY,
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    }
  )
  const stdout: string[] = []
  const stderr: string[] = []
  const listeners = new Set<() => void>()
  const lines = (into: string[]) => {
    let rest = ''
    return (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n')
      rest = parts.pop() ?? ''
      into.push(...parts)
      for (const listener of listeners) listener()
    }
  }
  child.stdout.on('data', lines(stdout))
  child.stderr.on('data', lines(stderr))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve({ code, signal })
      for (const listener of listeners) listener()
    })
  )

  const waitForLine = (pattern: RegExp, timeoutMs = 20_000): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const line = stdout.find((candidate) => pattern.test(candidate))
        if (line !== undefined) finish(() => resolve(line))
        else if (child.exitCode !== null || child.signalCode !== null) {
          finish(() => reject(new Error(`exited before printing ${pattern}; stderr: ${stderr.join('\n')}`)))
        }
      }
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`))),
        timeoutMs
      )
      const finish = (settle: () => void): void => {
        clearTimeout(timer)
        listeners.delete(check)
        settle()
      }
      listeners.add(check)
      check()
    })

  return { child, stdout, stderr, waitForLine, exited }
}
