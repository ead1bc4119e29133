import { startMotoServer } from '../support/moto-server';

describe('test/support/moto-server', () => {
  test('fails with a clear message when moto_server is not installed', async () => {
    const saved = process.env.MOTO_SERVER_BIN;
    process.env.MOTO_SERVER_BIN = '/nonexistent/moto_server';
    try {
      await expect(startMotoServer({ startupTimeoutMs: 5000 })).rejects.toThrow(
        /moto_server is not installed or did not start \("\/nonexistent\/moto_server" not found on PATH\).*pip install "moto\[server\]>=5.2"/s,
      );
    } finally {
      if (saved === undefined) delete process.env.MOTO_SERVER_BIN;
      else process.env.MOTO_SERVER_BIN = saved;
    }
  });

  test('starts on a free port, answers, and stops', async () => {
    const server = await startMotoServer();
    try {
      expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
      expect((await fetch(`${server.endpoint}/moto-api/`)).ok).toBe(true);
    } finally {
      await server.stop();
    }
    await expect(fetch(`${server.endpoint}/moto-api/`)).rejects.toThrow();
  });
});
