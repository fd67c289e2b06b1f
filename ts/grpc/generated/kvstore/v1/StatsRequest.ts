// Original file: proto/kvstore/v1/admin.proto


export interface StatsRequest {
}

export interface StatsRequest__Output {
}
