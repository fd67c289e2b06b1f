#!/usr/bin/env node
// `kvctl` from kvstore-plus-plus (its export kvstore-plus-plus/bin/kvctl); this package brings the libraries it needs.
import 'kvstore-plus-plus/bin/kvctl';
