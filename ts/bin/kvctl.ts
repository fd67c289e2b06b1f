#!/usr/bin/env node
/** `kvctl` as installed by kvstore-plus-plus-server (package export `kvstore-plus-plus/bin/kvctl`): see launch.ts. */
import { launch } from './launch.js';

await launch('kvctl', () => import('../cli/kvctl.js'));
