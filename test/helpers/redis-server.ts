// The redis-server starter lives in bench/ (the bench needs it too, and bench/ imports
// nothing from test/); tests keep importing it from here.
export * from '../../bench/redis-server.ts';
