import { testAppBuilder } from '@labclimate/testkit/app'
import app, { serverOptions } from '../src/app.ts'

export type { TestApp, TestAppOptions } from '@labclimate/testkit/app'

/** The real app on a fresh MariaDB database and a fresh in-process SQS server. */
export const buildTestApp = testAppBuilder({ app, serverOptions })
