// The services of a local cluster and how to run them, shared by `npm start` and `npm run start:dev`.
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const entry = (app) => path.join(root, 'dist', 'apps', app, 'src', 'main.js');

/**
 * With AMQP_URL listing a RabbitMQ cluster's nodes, the list starting at node `i` (round), so the
 * services' connections spread over the nodes; nothing to set with one broker. With several
 * clusters (separated by `;`) each cluster's nodes turn so, and the clusters keep their order:
 * a cluster's position decides which rooms it carries.
 */
function brokerOrder(env, i) {
  const clusters = (env.AMQP_URL ?? '').split(';').map((cluster) =>
    cluster
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
  );
  if (clusters.every((urls) => urls.length < 2)) return {};
  const turned = clusters.map((urls) => {
    const k = i % Math.max(urls.length, 1);
    return [...urls.slice(k), ...urls.slice(0, k)].join(',');
  });
  return { AMQP_URL: turned.join(';') };
}

function clusterServices(env = process.env, gateways = Number(env.GATEWAYS ?? 3)) {
  const basePort = Number(env.GATEWAY_BASE_PORT ?? 3001);
  const services = [
    { name: 'presence', app: 'presence', env: { PORT: env.PRESENCE_PORT ?? '3010' } },
    { name: 'api', app: 'api', env: { PORT: env.STATS_PORT ?? '3000' } },
  ];
  for (let i = 0; i < gateways; i++) {
    services.push({
      name: `gateway-${i + 1}`,
      app: 'gateway',
      env: { PORT: String(basePort + i), INSTANCE_ID: `gateway-${i + 1}`, ...brokerOrder(env, i) },
    });
  }
  return services;
}

/** What a local nginx in front of `services` proxies to, and the port it listens on. */
function nginxUpstreams(services, env = process.env) {
  return {
    gateways: services.filter((s) => s.app === 'gateway').map((s) => `127.0.0.1:${s.env.PORT}`),
    api: `127.0.0.1:${services.find((s) => s.app === 'api').env.PORT}`,
    port: Number(env.NGINX_PORT ?? 8080),
  };
}

module.exports = { root, entry, clusterServices, nginxUpstreams };
