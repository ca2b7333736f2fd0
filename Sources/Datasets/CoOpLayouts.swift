import Foundation

/// The eleven CoOp datasets read from `split_zhou_<Name>.json` (and FGVCAircraft, read from its
/// official lists): the folder names, image dirs and split-file names CoOp's dataset readers use. `root` is CoOp's
/// `$DATA` (the folder holding `oxford_pets/`, `dtd/`, …).
enum CoOpLayouts {
    typealias Splits = (train: [DatasetItem], val: [DatasetItem], test: [DatasetItem])

    /// What to do when the split JSON is missing.
    enum MissingSplit {
        /// Rebuild it like CoOp from the dataset folder and the image dir.
        case generate((_ datasetDir: URL, _ imageDir: URL, _ random: inout CPythonRandom) throws -> Splits)
        /// cocoon cannot rebuild it (the reason is shown); the file must be downloaded.
        case download(reason: String)
    }

    /// A dataset whose split lives in `<folder>/split_zhou_<name>.json`, paths relative to `<folder>/<imageDir>`.
    struct SplitJSONLayout {
        let name: String
        let folder: String
        let imageDir: String
        let missing: MissingSplit
    }

    static let caltechIgnored: Set<String> = ["BACKGROUND_Google", "Faces_easy"]
    static let caltechRenames = ["airplanes": "airplane", "Faces": "face", "Leopards": "leopard", "Motorbikes": "motorbike"]
    /// EuroSAT's `NEW_CNAMES`.
    static let eurosatRenames = [
        "AnnualCrop": "Annual Crop Land", "Forest": "Forest", "HerbaceousVegetation": "Herbaceous Vegetation Land",
        "Highway": "Highway or Road", "Industrial": "Industrial Buildings", "Pasture": "Pasture Land",
        "PermanentCrop": "Permanent Crop Land", "Residential": "Residential Buildings", "River": "River",
        "SeaLake": "Sea or Lake",
    ]

    static let splitJSONLayouts: [SplitJSONLayout] = [
        SplitJSONLayout(name: "Caltech101", folder: "caltech-101", imageDir: "101_ObjectCategories", missing: .generate { _, images, random in
            try SplitGeneration.readAndSplit(imageDir: images, ignored: caltechIgnored, renames: caltechRenames, random: &random)
        }),
        SplitJSONLayout(name: "OxfordPets", folder: "oxford_pets", imageDir: "images", missing: .generate { dir, _, random in
            try SplitGeneration.oxfordPets(datasetDir: dir, random: &random)
        }),
        SplitJSONLayout(name: "StanfordCars", folder: "stanford_cars", imageDir: "",
                        missing: .download(reason: "generating it needs devkit/*.mat, which cocoon does not read")),
        SplitJSONLayout(name: "OxfordFlowers", folder: "oxford_flowers", imageDir: "jpg",
                        missing: .download(reason: "generating it needs imagelabels.mat, which cocoon does not read")),
        SplitJSONLayout(name: "Food101", folder: "food-101", imageDir: "images", missing: .generate { _, images, random in
            try SplitGeneration.readAndSplit(imageDir: images, random: &random)
        }),
        SplitJSONLayout(name: "SUN397", folder: "sun397", imageDir: "SUN397", missing: .generate { dir, _, random in
            try SplitGeneration.sun397(datasetDir: dir, random: &random)
        }),
        SplitJSONLayout(name: "DescribableTextures", folder: "dtd", imageDir: "images", missing: .generate { _, images, random in
            try SplitGeneration.readAndSplit(imageDir: images, random: &random)
        }),
        SplitJSONLayout(name: "EuroSAT", folder: "eurosat", imageDir: "2750", missing: .generate { _, images, random in
            try SplitGeneration.readAndSplit(imageDir: images, renames: eurosatRenames, random: &random)
        }),
        SplitJSONLayout(name: "UCF101", folder: "ucf101", imageDir: "UCF-101-midframes", missing: .generate { dir, _, random in
            try SplitGeneration.ucf101(datasetDir: dir, random: &random)
        }),
    ]

    /// Reads `<root>/<folder>/split_zhou_<Name>.json`; if it is missing and the dataset folder exists,
    /// generates the split like CoOp (with `random`), else throws naming the missing file.
    static func load(_ layout: SplitJSONLayout, root: URL, random: inout CPythonRandom) throws -> Dataset {
        let datasetDir = root.appendingPathComponent(layout.folder)
        let imageDir = layout.imageDir.isEmpty ? datasetDir : datasetDir.appendingPathComponent(layout.imageDir)
        let splitURL = datasetDir.appendingPathComponent("split_zhou_\(layout.name).json")
        try FileListing.requireDirectory(datasetDir, "the \(layout.name) dataset (CoOp layout: $DATA/\(layout.folder)/)")
        let train: [DatasetItem], val: [DatasetItem], test: [DatasetItem]
        if FileManager.default.fileExists(atPath: splitURL.path) {
            let split = try SplitFile.read(splitURL, keys: ["train", "val", "test"])
            (train, val, test) = (split["train"]!, split["val"]!, split["test"]!)
        } else {
            switch layout.missing {
            case .generate(let generate):
                (train, val, test) = try generate(datasetDir, imageDir, &random)
            case .download(let reason):
                throw DatasetError("\(splitURL.path): split file not found; download split_zhou_\(layout.name).json from CoOp's DATASETS.md (\(reason))")
            }
        }
        return try Dataset(name: layout.name, imageRoot: imageDir, train: train, val: val, test: test,
                           templates: PromptTemplates.templates(for: layout.name))
    }

    /// FGVCAircraft: `variants.txt` (one name per line, label = line index) and the official
    /// `images_variant_{train,val,test}.txt` (lines "<id> <variant with spaces>"); images `images/<id>.jpg`.
    static func fgvcAircraft(root: URL) throws -> Dataset {
        let datasetDir = root.appendingPathComponent(DatasetCatalog.folders["FGVCAircraft"]!)
        try FileListing.requireDirectory(datasetDir, "the FGVCAircraft dataset (fgvc-aircraft-2013b/data renamed to $DATA/fgvc_aircraft/)")
        let variants = try FileListing.lines(datasetDir.appendingPathComponent("variants.txt"), "the 100 aircraft variants, one per line")
        var labels: [String: Int] = [:]
        for (label, name) in variants.enumerated() { labels[name] = label }
        func read(_ split: String) throws -> [DatasetItem] {
            let file = "images_variant_\(split).txt"
            return try FileListing.lines(datasetDir.appendingPathComponent(file), "the official \(split) list").map { line in
                let (id, variant) = FileListing.splitFirstSpace(line)
                guard let label = labels[variant] else {
                    throw DatasetError("\(file): variant '\(variant)' of image \(id) is not in variants.txt; use the official FGVC-Aircraft lists")
                }
                return DatasetItem(path: id + ".jpg", label: label, classname: variant)
            }
        }
        return try Dataset(name: "FGVCAircraft", imageRoot: datasetDir.appendingPathComponent("images"),
                           train: try read("train"), val: try read("val"), test: try read("test"),
                           templates: PromptTemplates.templates(for: "FGVCAircraft"))
    }
}
