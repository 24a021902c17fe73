import CSwiftlet
import SwiftletCore

/// The sequence a state call names: nil for SWIFTLET_STATE_ALL_SEQUENCES.
private func stateSequence(_ seq_id: Int32) -> Int? { seq_id == SWIFTLET_STATE_ALL_SEQUENCES ? nil : Int(seq_id) }

@c @implementation
public func swiftlet_context_state_size(_ context: OpaquePointer?, _ seq_id: Int32,
                                       _ out_size: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let out = try required(out_size, "out_size")
        try contextHandle(context).exclusive { c in out.pointee = try c.stateSize(sequence: stateSequence(seq_id)) }
    }
}

@c @implementation
public func swiftlet_context_state_save(_ context: OpaquePointer?, _ seq_id: Int32, _ buf: UnsafeMutableRawPointer?,
                                       _ buf_size: Int, _ out_len: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        try contextHandle(context).exclusive { c in
            let sequence = stateSequence(seq_id)
            let needed = try c.stateSize(sequence: sequence)
            out_len?.pointee = needed
            guard buf_size >= 0, buf_size >= needed else {
                throw SwiftletError(.bufferTooSmall,
                                    "the buffer holds \(UInt(bitPattern: buf_size)) bytes; \(needed) are needed")
            }
            let buffer = try required(buf, "buf")
            let bytes = try c.saveState(sequence: sequence, libraryVersion: UInt32(swiftlet_version_number()))
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
    }
}

@c @implementation
public func swiftlet_context_state_load(_ context: OpaquePointer?, _ seq_id: Int32, _ buf: UnsafeRawPointer?,
                                       _ buf_len: Int) -> swiftlet_status {
    withStatus {
        try contextHandle(context).exclusive { c in
            let buffer = try required(buf, "buf")
            guard buf_len >= 0 else { throw SwiftletError.invalidArgument("buf_len \(UInt(bitPattern: buf_len)) is too large") }
            try c.loadState(UnsafeRawBufferPointer(start: buffer, count: buf_len), into: stateSequence(seq_id))
        }
    }
}

@c @implementation
public func swiftlet_context_state_save_file(_ context: OpaquePointer?, _ seq_id: Int32,
                                            _ path: UnsafePointer<CChar>?) -> swiftlet_status {
    withStatus {
        let path = stringOf(try required(path, "path"))
        try contextHandle(context).exclusive { c in
            try c.saveState(sequence: stateSequence(seq_id), libraryVersion: UInt32(swiftlet_version_number()),
                            toFile: path)
        }
    }
}

@c @implementation
public func swiftlet_context_state_load_file(_ context: OpaquePointer?, _ seq_id: Int32,
                                            _ path: UnsafePointer<CChar>?) -> swiftlet_status {
    withStatus {
        let path = stringOf(try required(path, "path"))
        try contextHandle(context).exclusive { c in try c.loadState(fromFile: path, into: stateSequence(seq_id)) }
    }
}
