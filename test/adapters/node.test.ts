import { withSession } from 'cloakroom/node'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import { quiet, sendNodeReply, suiteFactories } from './harness.js'

runAdapterSuite(
  'node',
  (factory, routes) =>
    listenHarness(
      withSession(
        factory,
        async (req, res) => {
          const route = routes[new URL(req.url ?? '/', 'http://localhost').pathname]
          if (route === undefined) {
            res.writeHead(404).end()
            return
          }
          await sendNodeReply(res, await route(req.session))
        },
        { onError: quiet() },
      ),
    ),
  { factories: suiteFactories },
)
