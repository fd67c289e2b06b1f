/**
 * `KVSTORE_TEST_HIDE_PACKAGES=fastify,jose node --import ./without-packages.js …`: those
 * packages cannot be imported, as in an embedded install of kvstore-plus-plus, which does not
 * install its optional peers (issue 20).
 */
import { register } from 'node:module';

const names = (process.env.KVSTORE_TEST_HIDE_PACKAGES ?? '').split(',').filter(Boolean);
register(new URL('./without-packages-hooks.js', import.meta.url), { data: names });
