// The API's JSON as the page reads it: the daemon's own types, plus fields other parts of tend add
// when they are there (a replica's STATUS text, firing alerts, event ids).
import type { AlertStatus, ReplicaStatus, ServiceStatus, StatusReport, TendEvent } from '../api/types.js';

export type Replica = ReplicaStatus & { status_text?: string | null };
export type Service = Omit<ServiceStatus, 'replicas'> & { replicas: Replica[] };

/** A firing alert (src/alerts): `alert`, `service`, `replica`, `since`, `summary`. */
export type Alert = AlertStatus;

export type Status = Omit<StatusReport, 'services'> & { services: Service[] };

/** An event; `id` is monotonic across daemon restarts (absent from a tend before event ids). */
export type PageEvent = TendEvent;

export interface ScaleResult {
  service: string;
  file: string;
  replicas_before: number | null;
  replicas: number;
  diff: string;
  base: string;
  applied: boolean;
}
