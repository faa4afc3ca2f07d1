/** The registry client as Engine's pull, push, login and logout use it: one client per call. */
import type { ClientOptions, RegistryClient } from '../registry/client/client.js';

/** A client for one call: its keep-alive connections close with it. */
export async function withClient<T>(
  options: ClientOptions,
  fn: (client: RegistryClient) => Promise<T>,
): Promise<T> {
  // Loaded by the calls that speak to a registry: `run` or `ps` should not parse the client.
  const { RegistryClient } = await import('../registry/client/client.js');
  const client = new RegistryClient({
    insecure: options.insecure,
    retryDelay: options.retryDelay,
    credentials: options.credentials,
  });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
