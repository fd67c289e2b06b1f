#!/usr/bin/env node
// `kvb` from kvstore-plus-plus (its export kvstore-plus-plus/bin/kvb); this package brings the libraries it needs.
import 'kvstore-plus-plus/bin/kvb';
