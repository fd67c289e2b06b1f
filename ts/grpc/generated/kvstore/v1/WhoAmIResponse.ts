// Original file: proto/kvstore/v1/auth.proto


export interface WhoAmIResponse {
  /**
   * false: the server runs without authentication and every other field is empty.
   */
  'auth'?: (boolean);
  'user'?: (string);
  /**
   * "session" or "apikey".
   */
  'type'?: (string);
  /**
   * The API key's name, for type "apikey".
   */
  'keyName'?: (string);
  'roles'?: (string)[];
  'admin'?: (boolean);
}

export interface WhoAmIResponse__Output {
  /**
   * false: the server runs without authentication and every other field is empty.
   */
  'auth': (boolean);
  'user': (string);
  /**
   * "session" or "apikey".
   */
  'type': (string);
  /**
   * The API key's name, for type "apikey".
   */
  'keyName': (string);
  'roles': (string)[];
  'admin': (boolean);
}
