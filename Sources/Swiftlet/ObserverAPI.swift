import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_context_set_observer(_ context: OpaquePointer?, _ kinds: UInt32,
                                          _ callback: swiftlet_observer_callback?,
                                          _ user_data: UnsafeMutableRawPointer?) -> swiftlet_status {
    withStatus {
        let handle = try contextHandle(context)
        let wanted = ObservationKinds(rawValue: kinds)
        guard ObservationKinds.all.isSuperset(of: wanted) else {
            throw SwiftletError.invalidArgument("kinds \(kinds) has bits that are no SWIFTLET_OBSERVE_* kind")
        }
        try handle.exclusive { c in
            guard let callback, !wanted.isEmpty else {
                c.observer = nil
                return
            }
            c.observer = Observer(kinds: wanted) { view in
                var observation = swiftlet_observation(
                    struct_size: UInt32(MemoryLayout<swiftlet_observation>.size), kind: view.kind.rawValue,
                    layer: Int32(view.layer), seq_id: Int32(view.sequence), first_token: Int32(view.tokens.lowerBound),
                    n_tokens: Int32(view.tokens.count), first_position: Int32(view.startPosition),
                    n_heads: Int32(view.heads), n_columns: Int32(view.columns), reserved: 0, values: view.values)
                return callback(&observation, user_data) != 0
            }
        }
    }
}
