#!/usr/bin/env node
// `kvstored` from kvstore-plus-plus (its export kvstore-plus-plus/bin/kvstored); this package brings the libraries it needs.
import 'kvstore-plus-plus/bin/kvstored';
