import { readFormBody, withCsrf, withSession } from 'cloakroom/node'
import { listenHarness, runAdapterSuite } from 'cloakroom/testing'
import { formFields, quiet, sendNodeReply, suiteFactories } from './harness.js'

runAdapterSuite(
  'node',
  (factory, routes, forms) =>
    listenHarness(
      withSession(
        factory,
        // withCsrf detects HTTPS from the socket or X-Forwarded-Proto; GET routes pass it.
        withCsrf(async (req, res) => {
          const path = new URL(req.url ?? '/', 'http://localhost').pathname
          const route = req.method === 'POST' ? undefined : routes[path]
          const form = req.method === 'POST' ? forms[path] : undefined
          if (route !== undefined) await sendNodeReply(res, await route(req.session))
          else if (form !== undefined) {
            await sendNodeReply(res, await form(req.session, formFields(await readFormBody(req))))
          } else res.writeHead(404).end()
        }),
        { onError: quiet() },
      ),
    ),
  { factories: suiteFactories },
)
