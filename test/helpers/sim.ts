/** Run `body` with a simulated device on 127.0.0.1 (port 0 unless `opts` says otherwise), closed afterwards. */
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import type { Credentials } from '../../src/types';

export async function withSimulatedDevice<T>(
  id: string,
  credentials: Credentials,
  body: (sim: SimulatedDevice) => Promise<T>,
  opts: Parameters<typeof startSimulatedDevice>[1] = {},
): Promise<T> {
  const sim = await startSimulatedDevice(id, { host: '127.0.0.1', port: 0, credentials, ...opts });
  try {
    return await body(sim);
  } finally {
    await sim.close();
  }
}
