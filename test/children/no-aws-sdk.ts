/** `node --import ./no-aws-sdk.js …`: registers no-aws-sdk-hooks.js, so the S3 SDK cannot be imported. */
import { register } from 'node:module';

register(new URL('./no-aws-sdk-hooks.js', import.meta.url));
