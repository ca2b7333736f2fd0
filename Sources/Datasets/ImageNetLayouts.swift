import Foundation

/// ImageNet and its four test-only variants, in CoOp's folder layout. All read `classnames.txt` (lines
/// "<wnid> <name with spaces>") from the dataset folder. Files inside a class folder are listed in
/// sorted order; CoOp uses unsorted `os.listdir`, so its ImageNet few-shot draws depend on the
/// filesystem and are reproduced exactly only through `tools/export_fewshot.py`.
enum ImageNetLayouts {
    /// `ImageNet.read_classnames`: wnid → name, in file order.
    static func readClassnames(_ datasetDir: URL) throws -> [(wnid: String, name: String)] {
        let url = datasetDir.appendingPathComponent("classnames.txt")
        return try FileListing.lines(url, "'<wnid> <class name>' lines (CoOp ships it with the ImageNet instructions)").map {
            let (wnid, name) = FileListing.splitFirstSpace($0)
            return (wnid, name)
        }
    }

    /// Items of `<dir>/<folder>/<file>` for the given folders in order (label = position), paths
    /// prefixed with `pathPrefix`; `name(label, folder)` gives the class name.
    private static func readFolders(_ dir: URL, folders: [String], pathPrefix: String,
                                    name: (Int, String) throws -> String) throws -> [DatasetItem] {
        var items: [DatasetItem] = []
        for (label, folder) in folders.enumerated() {
            let classname = try name(label, folder)
            for file in try FileListing.files(dir.appendingPathComponent(folder), "the images of class \(folder)") {
                items.append(DatasetItem(path: "\(pathPrefix)\(folder)/\(file)", label: label, classname: classname))
            }
        }
        return items
    }

    private static func lookup(_ classnames: [(wnid: String, name: String)], _ datasetDir: URL) -> (Int, String) throws -> String {
        var byWnid: [String: String] = [:]
        for entry in classnames { byWnid[entry.wnid] = entry.name }
        return { _, folder in
            guard let name = byWnid[folder] else {
                throw DatasetError("\(datasetDir.path)/classnames.txt: no line for folder '\(folder)'; use CoOp's classnames.txt")
            }
            return name
        }
    }

    /// ImageNet: `imagenet/images/train/<wnid>/` (train) and `imagenet/images/val/<wnid>/` (test, also val);
    /// labels = sorted wnid folders.
    static func imageNet(root: URL) throws -> Dataset {
        let datasetDir = root.appendingPathComponent(DatasetCatalog.folders["ImageNet"]!)
        let imageDir = datasetDir.appendingPathComponent("images")
        try FileListing.requireDirectory(datasetDir, "ImageNet (CoOp layout: $DATA/imagenet/{classnames.txt,images/train,images/val})")
        let name = lookup(try readClassnames(datasetDir), datasetDir)
        let trainFolders = try FileListing.subdirectories(imageDir.appendingPathComponent("train"), "one folder per wnid")
        let valFolders = try FileListing.subdirectories(imageDir.appendingPathComponent("val"), "one folder per wnid (reorganise the flat val images)")
        guard trainFolders == valFolders else {
            throw DatasetError("\(imageDir.path): train has \(trainFolders.count) wnid folders and val \(valFolders.count), or their names differ; val must hold the same wnid folders")
        }
        let train = try readFolders(imageDir.appendingPathComponent("train"), folders: trainFolders, pathPrefix: "train/", name: name)
        let test = try readFolders(imageDir.appendingPathComponent("val"), folders: valFolders, pathPrefix: "val/", name: name)
        return try Dataset(name: "ImageNet", imageRoot: imageDir, train: train, val: test, test: test,
                           templates: PromptTemplates.templates(for: "ImageNet"), fewShotSamplesVal: false)
    }

    private static func testOnly(_ name: String, imageDir: URL, items: [DatasetItem]) throws -> Dataset {
        try Dataset(name: name, imageRoot: imageDir, train: items, val: [], test: items,
                    templates: PromptTemplates.templates(for: name))
    }

    /// ImageNetV2: `imagenetv2/imagenetv2-matched-frequency-format-val/<label>/`, label = int(folder) over
    /// 0..<(lines of classnames.txt); name = that line of classnames.txt.
    static func imageNetV2(root: URL) throws -> Dataset {
        let datasetDir = root.appendingPathComponent(DatasetCatalog.folders["ImageNetV2"]!)
        let imageDir = datasetDir.appendingPathComponent("imagenetv2-matched-frequency-format-val")
        try FileListing.requireDirectory(datasetDir, "ImageNetV2 (CoOp layout: $DATA/imagenetv2/)")
        let classnames = try readClassnames(datasetDir)
        try FileListing.requireDirectory(imageDir, "the folders 0..\(classnames.count - 1) of ImageNetV2 matched-frequency")
        let items = try readFolders(imageDir, folders: classnames.indices.map(String.init), pathPrefix: "") { label, _ in classnames[label].name }
        return try testOnly("ImageNetV2", imageDir: imageDir, items: items)
    }

    /// A test-only variant whose class folders are wnids: sorted folders → labels 0..<n, names by wnid.
    /// ImageNetSketch has 1000 folders; ImageNet-A/R have 200 (a 200-way problem, not mapped to 1000).
    static func wnidFolders(root: URL, name: String, folder: String, imageDir: String) throws -> Dataset {
        let datasetDir = root.appendingPathComponent(folder)
        let images = datasetDir.appendingPathComponent(imageDir)
        try FileListing.requireDirectory(datasetDir, "\(name) (CoOp layout: $DATA/\(folder)/{classnames.txt,\(imageDir)/})")
        let nameOf = lookup(try readClassnames(datasetDir), datasetDir)
        let folders = try FileListing.subdirectories(images, "one folder per wnid")
        return try testOnly(name, imageDir: images, items: try readFolders(images, folders: folders, pathPrefix: "", name: nameOf))
    }
}
