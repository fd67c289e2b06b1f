// Original file: proto/kvstore/v1/auth.proto


export interface LoginRequest {
  'name'?: (string);
  'password'?: (string);
}

export interface LoginRequest__Output {
  'name': (string);
  'password': (string);
}
