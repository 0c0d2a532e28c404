/** Prometheus metrics of one app instance (own registry, so tests can run several apps). */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The app's metrics. */
export interface Metrics {
  readonly contentType: string;
  observe(method: string, route: string, status: number, seconds: number): void;
  render(): Promise<string>;
}

/** Creates a registry with process metrics and HTTP request counters and latencies. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mofn_' });
  const requests = new Counter({ name: 'mofn_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'mofn_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    contentType: registry.contentType,
    observe(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      latency.observe({ method, route }, seconds);
    },
    render: () => registry.metrics(),
  };
}
