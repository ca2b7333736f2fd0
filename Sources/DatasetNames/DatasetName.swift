/// The names of the datasets cocoon reads, shared by the dataset readers (`Datasets`) and the
/// feature store (`FeatureCache`): the canonical names, their aliases, and the rule that finds a
/// stored dataset by any spelling of its name. Names are matched ignoring case, "-", "_" and
/// spaces, plus a few aliases ("dtd", "pets", "imagenet-a", …).
public enum DatasetName {
    /// Canonical names in the order they are listed in errors and help texts.
    public static let all = [
        "ImageNet", "Caltech101", "OxfordPets", "StanfordCars", "OxfordFlowers", "Food101", "FGVCAircraft",
        "SUN397", "DescribableTextures", "EuroSAT", "UCF101", "ImageNetV2", "ImageNetSketch", "ImageNetA",
        "ImageNetR", "split-json", "image-folder", "csv",
    ]

    private static let aliases: [String: String] = [
        "pets": "OxfordPets", "cars": "StanfordCars", "flowers": "OxfordFlowers", "aircraft": "FGVCAircraft",
        "fgvc": "FGVCAircraft", "sun": "SUN397", "dtd": "DescribableTextures", "textures": "DescribableTextures",
        "ucf": "UCF101", "imagenetadversarial": "ImageNetA", "imagenetrendition": "ImageNetR", "sketch": "ImageNetSketch",
        "caltech": "Caltech101", "food": "Food101", "splitjson": "split-json", "imagefolder": "image-folder",
    ]

    private static func key(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { $0 != "-" && $0 != "_" && $0 != " " })
    }

    /// The canonical name for `name` (an alias or any spelling), nil when no dataset is called so.
    public static func canonical(_ name: String) -> String? {
        let k = key(name)
        return all.first(where: { key($0) == k }) ?? aliases[k]
    }

    /// Whether a dataset stored as `stored` is the one asked for as `requested`: the same name up
    /// to case, or `requested`'s canonical name ("oxford_pets" finds "OxfordPets"). The rule of
    /// every feature-store lookup by name (queries and the tuner).
    public static func stored(_ stored: String, matches requested: String) -> Bool {
        stored.lowercased() == requested.lowercased() || stored == canonical(requested)
    }
}
