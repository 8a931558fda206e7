// Tests and the bench share one free-port finder; it lives in bench/ so that bench/
// never imports from test/.
export { freePort } from '../../bench/ports.ts';
