#!/usr/bin/env node
'use strict';
const { main } = require('../dist/lib/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`sphereface: ${error && error.message ? error.message : error}`);
    process.exitCode = 1;
  },
);
