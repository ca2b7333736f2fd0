import DatasetNames
import Foundation

/// Registry of every dataset layout cocoon reads, by name (`DatasetName`: canonical names and
/// aliases). CoOp's datasets take `root` = CoOp's `$DATA` (the folder holding `oxford_pets/`,
/// `imagenet/`, …); the generic layouts ("split-json", "image-folder", "csv") take `root` = the
/// dataset folder itself. Used by the CLI and the indexer.
public enum DatasetCatalog {
    /// The canonical name for `name` (an alias or any spelling), or throws the unknown-name error.
    public static func canonicalName(_ name: String) throws -> String {
        if let canonical = DatasetName.canonical(name) { return canonical }
        throw DatasetError("unknown dataset '\(name)'; known: \(DatasetName.all.joined(separator: ", ")) (case-insensitive; aliases such as dtd, pets, imagenet-a)")
    }

    /// The folder under CoOp's `$DATA` that holds a CoOp dataset (canonical name), nil for the
    /// generic layouts (their root is the dataset folder itself).
    public static func folder(of canonical: String) -> String? {
        if let layout = CoOpLayouts.splitJSONLayouts.first(where: { $0.name == canonical }) { return layout.folder }
        return folders[canonical]
    }

    /// Folders of the datasets not read from a split JSON.
    static let folders = ["ImageNet": "imagenet", "FGVCAircraft": "fgvc_aircraft", "ImageNetV2": "imagenetv2",
                          "ImageNetSketch": "imagenet-sketch", "ImageNetA": "imagenet-adversarial", "ImageNetR": "imagenet-rendition"]

    /// Reads a dataset. A missing `split_zhou_<Name>.json` is regenerated like CoOp with a fresh
    /// `random.seed(1)` state (see `load(name:root:random:)`).
    public static func load(name: String, root: URL) throws -> Dataset {
        var random = CPythonRandom(seed: 1)
        return try load(name: name, root: root, random: &random)
    }

    /// Reads a dataset; `random` is consumed only when a split is generated (split JSON missing),
    /// exactly as CoOp's first run consumes Python's `random` after `set_random_seed(SEED)`.
    public static func load(name: String, root: URL, random: inout CPythonRandom) throws -> Dataset {
        let canonical = try canonicalName(name)
        if let layout = CoOpLayouts.splitJSONLayouts.first(where: { $0.name == canonical }) {
            return try CoOpLayouts.load(layout, root: root, random: &random)
        }
        switch canonical {
        case "ImageNet": return try ImageNetLayouts.imageNet(root: root)
        case "FGVCAircraft": return try CoOpLayouts.fgvcAircraft(root: root)
        case "ImageNetV2": return try ImageNetLayouts.imageNetV2(root: root)
        case "ImageNetSketch": return try ImageNetLayouts.wnidFolders(root: root, name: canonical, folder: folders[canonical]!, imageDir: "images")
        case "ImageNetA": return try ImageNetLayouts.wnidFolders(root: root, name: canonical, folder: folders[canonical]!, imageDir: "imagenet-a")
        case "ImageNetR": return try ImageNetLayouts.wnidFolders(root: root, name: canonical, folder: folders[canonical]!, imageDir: "imagenet-r")
        case "split-json": return try GenericLayouts.splitJSON(root: root)
        case "image-folder": return try GenericLayouts.imageFolder(root: root)
        default: return try GenericLayouts.csv(root: root)   // "csv", the last canonical name
        }
    }
}
