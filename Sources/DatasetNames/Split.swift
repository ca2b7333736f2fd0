/// The three splits of a dataset, in CoOp's order. The name ("train", "val", "test") is the key
/// in split JSON files, split folders and manifest hashes; the raw value is the split byte of
/// every feature-store key.
public enum Split: UInt8, CaseIterable, CustomStringConvertible, Sendable {
    case train = 0, val = 1, test = 2
    public var description: String {
        switch self {
        case .train: return "train"
        case .val: return "val"
        case .test: return "test"
        }
    }
    public init?(name: String) {
        guard let s = Split.allCases.first(where: { $0.description == name }) else { return nil }
        self = s
    }
}
