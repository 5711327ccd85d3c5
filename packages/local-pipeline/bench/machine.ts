/** What the benchmark says about the machine it ran on: the CPU, and how busy other processes kept it. */
import * as os from 'node:os'
import { readFileSync } from 'node:fs'
import { mib, num } from './format'

export function describeMachine() {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`
  }
}

export const machineLine = (machine: ReturnType<typeof describeMachine>): string =>
  `machine: ${machine.cpu} · ${machine.cores} cores · ${mib(machine.totalMemoryBytes)} · Node ${machine.node} · ${machine.platform}`

/** Share of the last minute in which runnable tasks waited for a CPU (Linux PSI), when the kernel says. */
export function cpuPressure(): { avg10: number; avg60: number } | undefined {
  try {
    const some = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    return some ? { avg10: Number(some[1]), avg60: Number(some[2]) } : undefined
  } catch {
    return undefined // not Linux, or no PSI
  }
}

/** Load average and, where the kernel reports it, how much of the time runnable tasks waited for a CPU. */
export function machineLoad(): string {
  const [one, five] = os.loadavg()
  const pressure = cpuPressure()
  const psi = pressure ? `, CPU pressure ${num(pressure.avg10, 2)} % (10 s) / ${num(pressure.avg60, 2)} % (60 s)` : ''
  return `load average ${num(one, 2)} (1 min) / ${num(five, 2)} (5 min)${psi}`
}

/** Above this share of time waiting for a CPU, wall-clock figures say more about the machine than the code. */
export const BUSY_PRESSURE = 25
