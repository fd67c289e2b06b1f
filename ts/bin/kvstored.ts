#!/usr/bin/env node
/** `kvstored` as installed by kvstore-plus-plus-server (package export `kvstore-plus-plus/bin/kvstored`): see launch.ts. */
import { launch } from './launch.js';

await launch('kvstored', () => import('../server/main.js'));
