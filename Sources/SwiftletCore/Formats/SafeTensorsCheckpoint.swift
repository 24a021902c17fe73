#if canImport(Glibc)
import Glibc
#endif

/// The weights of a Hugging Face checkpoint folder: either one
/// `model.safetensors`, or shards listed by `model.safetensors.index.json`:
///
///     {"metadata": {"total_size": 1234},
///      "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}}
///
/// When both are present the single file wins, as in transformers. With an
/// index, the folder must agree with it exactly: every shard name is a plain
/// file name inside the folder; every shard exists and is a valid safetensors
/// file; every tensor of weight_map is in the shard it names; every tensor of
/// a shard is in weight_map, under that shard (so no tensor is in two shards).
/// Files of the folder that the index does not name are ignored.
///
/// Immutable after init, so one instance may be shared by any number of threads.
public final class SafeTensorsCheckpoint: @unchecked Sendable {
    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    public let folder: String
    /// The files read: the single file, or the shards in order of first
    /// appearance in weight_map.
    public let files: [SafeTensorsFile]
    /// Every tensor, in a stable order: weight_map's order for an index,
    /// the header's order for a single file.
    public let tensors: [SafeTensorsTensor]
    /// The index's "metadata" object (nil for a single file or when the index has none).
    /// Informational only: its "total_size" is not checked.
    public let indexMetadata: JSONObject?
    /// Path of model.safetensors.index.json when the weights are sharded, nil for a single file.
    public let indexPath: String?

    private let tensorIndex: [String: Int]

    /// Opens `folder`. Errors: .notFound (no folder, or neither
    /// model.safetensors nor model.safetensors.index.json in it); .io (a file
    /// cannot be read); .invalidFile (a bad index, a bad shard name, a missing
    /// shard, a shard that is not valid safetensors, index and shards disagree).
    public init(folder: String) throws(SwiftletError) {
        self.folder = folder
        guard Self.isDirectory(folder) else { throw .notFound("checkpoint folder '\(folder)' does not exist or is not a folder") }
        let singlePath = Self.join(folder, Self.singleFileName)
        let indexFilePath = Self.join(folder, Self.indexFileName)

        if Self.exists(singlePath) {
            let file = try SafeTensorsFile(path: singlePath)
            files = [file]
            tensors = file.tensors
            indexMetadata = nil
            self.indexPath = nil
        } else if Self.exists(indexFilePath) {
            self.indexPath = indexFilePath
            (files, tensors, indexMetadata) = try Self.readSharded(folder: folder, indexPath: indexFilePath)
        } else {
            throw .notFound("checkpoint folder '\(folder)' has neither \(Self.singleFileName) nor \(Self.indexFileName)")
        }
        var nameIndex: [String: Int] = [:]
        for (position, tensor) in tensors.enumerated() { nameIndex[tensor.name] = position }
        tensorIndex = nameIndex
    }


    public func tensor(named name: String) -> SafeTensorsTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    private static func readSharded(folder: String, indexPath: String) throws(SwiftletError)
        -> (files: [SafeTensorsFile], tensors: [SafeTensorsTensor], metadata: JSONObject?) {
        let index = "'\(indexPath)'"
        let indexMapping = try ReadOnlyMappedFile(path: indexPath)
        let document = try JSONValue.parse(indexMapping.bytes, what: index)
        guard case .object(let root) = document else { throw .invalidFile("\(index) is not a JSON object") }
        var metadata: JSONObject?
        if let value = root["metadata"], !value.isNull {
            guard case .object(let object) = value else { throw .invalidFile("\"metadata\" of \(index) is not an object") }
            metadata = object
        }
        guard let mapValue = root["weight_map"] else { throw .invalidFile("\(index) has no \"weight_map\"") }
        guard case .object(let weightMap) = mapValue else { throw .invalidFile("\"weight_map\" of \(index) is not an object") }
        guard weightMap.count > 0 else { throw .invalidFile("\"weight_map\" of \(index) lists no tensors") }

        // Shard names, each checked and opened once, in order of first appearance.
        var shardNames: [String] = []
        var shardOfTensor: [String: Int] = [:]
        var shardNumber: [String: Int] = [:]
        for (tensorName, value) in weightMap.members {
            guard !tensorName.isEmpty else { throw .invalidFile("\"weight_map\" of \(index) has an empty tensor name") }
            guard case .string(let shardName) = value else {
                throw .invalidFile("\"weight_map\" entry \"\(tensorName)\" of \(index) is not a file name string")
            }
            if let number = shardNumber[shardName] {
                shardOfTensor[tensorName] = number
                continue
            }
            if let problem = problemWithShardName(shardName) {
                throw .invalidFile("\"weight_map\" entry \"\(tensorName)\" of \(index) names shard \"\(shardName)\", "
                    + "which \(problem); a shard must be a plain file name inside the folder")
            }
            shardNumber[shardName] = shardNames.count
            shardOfTensor[tensorName] = shardNames.count
            shardNames.append(shardName)
        }

        var files: [SafeTensorsFile] = []
        for name in shardNames {
            let path = join(folder, name)
            guard exists(path) else {
                throw .invalidFile("shard \"\(name)\" named by \(index) does not exist in '\(folder)'")
            }
            files.append(try SafeTensorsFile(path: path))
        }

        // Every tensor of every shard must be in weight_map, under that shard.
        for (number, file) in files.enumerated() {
            for tensor in file.tensors {
                guard let expected = shardOfTensor[tensor.name] else {
                    throw .invalidFile("tensor \"\(tensor.name)\" of shard \"\(shardNames[number])\" is not in the "
                        + "\"weight_map\" of \(index)")
                }
                if expected != number {
                    let where_ = files[expected].tensor(named: tensor.name) != nil
                        ? "is in two shards, \"\(shardNames[expected])\" and \"\(shardNames[number])\""
                        : "is in shard \"\(shardNames[number])\", but the index places it in \"\(shardNames[expected])\""
                    throw .invalidFile("tensor \"\(tensor.name)\" \(where_) (\(index))")
                }
            }
        }
        // Every tensor of weight_map must be in its shard.
        var tensors: [SafeTensorsTensor] = []
        tensors.reserveCapacity(weightMap.count)
        for (tensorName, _) in weightMap.members {
            let number = shardOfTensor[tensorName]!  // every member was given a shard above
            guard let tensor = files[number].tensor(named: tensorName) else {
                throw .invalidFile("tensor \"\(tensorName)\" is missing from shard \"\(shardNames[number])\", "
                    + "where the \"weight_map\" of \(index) places it")
            }
            tensors.append(tensor)
        }
        return (files, tensors, metadata)
    }

    /// Why `name` is not a plain file name inside the folder, or nil if it is.
    static func problemWithShardName(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.hasPrefix("/") { return "is an absolute path" }
        if name.utf8.contains(UInt8(ascii: "/")) { return "contains \"/\"" }
        if name.utf8.contains(0) { return "contains a NUL byte" }
        if name == "." || name == ".." { return "is \"\(name)\"" }
        return nil
    }

    private static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// Whether something exists at `path` (following symbolic links: a shard
    /// may be a link into a cache, as the Hugging Face hub lays them out).
    private static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }
}
