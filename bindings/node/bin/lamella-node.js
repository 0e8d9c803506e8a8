#!/usr/bin/env node
// lamella-node [file.export]: runs an AWS-style Node.js handler on lamella's runtime. The handler
// comes from the argument or _HANDLER, the app root from LAMBDA_TASK_ROOT or the working
// directory, the platform from AWS_LAMBDA_RUNTIME_API. The generic lamella `bootstrap` starts
// this for JS handlers; `npx lamella-node index.handler` does the same in an image with its own
// Node.
'use strict';

require('../lib/runtime').main();
