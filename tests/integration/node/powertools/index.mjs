// A handler written for AWS Lambda with @aws-lambda-powertools/logger (from npm, unchanged): the
// Logger gets the invocation's context with addContext() and writes one structured JSON line.
import { Logger } from '@aws-lambda-powertools/logger';

const logger = new Logger({ serviceName: 'lamella-powertools' });

export const handler = async (event, context) => {
  logger.addContext(context);
  logger.info('greeting', { who: event.name });
  return { greeted: event.name };
};
