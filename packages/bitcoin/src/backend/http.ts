/** Small HTTP helpers shared by the HTTP backends (Esplora, Bitcoin Core). */
import { base64 } from '@scure/base';

/** An HTTP Basic `Authorization` header value. The result is a credential: never log it. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${base64.encode(new TextEncoder().encode(`${user}:${password}`))}`;
}
