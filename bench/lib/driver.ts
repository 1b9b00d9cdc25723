// One supervisor under test, driven the way its users drive it. The workloads (bench/workloads.ts)
// only use this interface and measure from the outside: replicas are the supervisor's live children
// that exec'd into `sleep` (ReplicaWatch), so no system's own bookkeeping is taken on trust.

export interface LaunchOptions {
  /** Replicas of `sleep 1000`. */
  replicas: number;
  /** A 1 s tcp readiness probe per replica against this loopback port (tend only). */
  probePort?: number;
  /** Extra node flags for the supervisor process (e.g. --cpu-prof), where it is Node. */
  nodeFlags?: string[];
  /** The supervisor's environment, where not the bench's own (bench/startup-attribution.ts). */
  env?: NodeJS.ProcessEnv;
}

export interface Driver {
  /** Short name in tables: minimal, bare, tend, s6, pm2, supervisord. */
  readonly name: string;
  /** The replicas are grandchildren of the supervisor, one per child of this name (s6-supervise). */
  readonly replicaVia?: string;
  /** Starts the supervisor with `replicas` configured. Resolves as soon as it was launched. */
  launch(opts: LaunchOptions): Promise<void>;
  /** The supervising process (its children are the replicas; its CPU and RSS are measured). */
  supervisorPid(): number | undefined;
  /** Every process that supervises, the root first, when there are more than one (s6: s6-svscan
   *  and one s6-supervise per service): their CPU and RSS are summed. */
  supervisorProcesses?(): number[];
  /** Processes other than the supervisor whose children are replicas (tend's spawn helper). */
  replicaParents?(): number[];
  /** Sets the replica count the way this tool's users do; resolves once the change was handed over. */
  scale(n: number): Promise<void>;
  /** Stops every replica and the supervisor; resolves once the request was handed over. */
  stopAll(): Promise<void>;
  /** Resolves when the supervisor process has exited. */
  exited(): Promise<void>;
  /** Starts a one-off job `argv` whose output must land in the returned log file. The supervisor
   *  must already run (launched with 0 replicas). */
  startJob(name: string, argv: string[]): Promise<string>;
  /** Kills whatever is left (by pid or process group) and removes temp files. Never throws. */
  cleanup(): Promise<void>;
  /** The last lines the supervisor logged, for error reports. */
  diagnostics?(): string;
  /** A note for the report (launcher, version, caveats). */
  describe(): string;
}

/** The peers' mechanisms differ; where one lacks a workload, the workload records why. */
export class Unsupported extends Error {}
