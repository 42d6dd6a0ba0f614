#!/usr/bin/env node
// The shadergrad command: `shadergrad train …` (package.json bin).

import { errorMessage } from '../index';
import { UsageError } from './args';
import { train } from './train';

const USAGE = 'Usage: shadergrad train [options]   (shadergrad train --help for the options)\n';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'train') return train(rest);
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  // Usage errors exit 2, as a bad flag does.
  process.stderr.write(command === undefined ? USAGE : `shadergrad: unknown command '${command}'\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`shadergrad: ${errorMessage(error)}\n${usage ? USAGE : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
