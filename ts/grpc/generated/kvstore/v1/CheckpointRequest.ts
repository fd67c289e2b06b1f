// Original file: proto/kvstore/v1/admin.proto


export interface CheckpointRequest {
}

export interface CheckpointRequest__Output {
}
