#!/usr/bin/env node
/** `kvb` as installed by kvstore-plus-plus-server (package export `kvstore-plus-plus/bin/kvb`): see launch.ts. */
import { launch } from './launch.js';

await launch('kvb', () => import('../cli/kvb.js'));
