/// What a model is loaded from, in GGUF's terms: metadata keys and tensor
/// infos with their bytes. A GGUF file is one; a Hugging Face checkpoint
/// folder is presented as another (HuggingFaceFolder: its config and tensors
/// under the names llama.cpp's converter gives them), so architectures, the
/// weight loader and the tokenizer read one vocabulary of keys and names.
public protocol ModelFile: AnyObject, Sendable {
    /// The path the model was opened from (a file or a folder).
    var path: String { get }
    /// Metadata keys in order.
    var metadataKeys: [String] { get }
    /// Tensors in order.
    var tensors: [GGUFTensorInfo] { get }
    func metadata(_ key: String) -> GGUFValue?
    /// The metadata entry at `index` in order, or nil if out of range.
    func metadata(at index: Int) -> (key: String, value: GGUFValue)?
    func tensor(named name: String) -> GGUFTensorInfo?
    /// The bytes of one of `tensors`, valid while this object lives.
    func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer
}

extension GGUFFile: ModelFile {}
