// What the figures were measured on, and how busy the machine was meanwhile.

import { cpus, freemem, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  node: string;
  kernel: string;
  loadAvgAtStart: number[];
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpuModel: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: release(),
    loadAvgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
