/**
 * Preloaded into a CLI child (`node --import <this file> main.js …`): writes one stderr line when the
 * program adds a SIGINT listener, so that a test sends its Ctrl-C after the command is ready to
 * catch it (sent earlier, the signal's default action would end the process).
 */
export const SIGINT_READY = 'test: SIGINT listener added';

process.on('newListener', (event) => {
  if (event === 'SIGINT') process.stderr.write(`${SIGINT_READY}\n`);
});
