import Foundation

/// CoOp's split generation, used only when a dataset's `split_zhou_<Name>.json` is missing
/// (the per-class shuffle and split rules CoOp's readers apply then). Draws come from `CPythonRandom` with CPython's
/// `random.shuffle`, so with the same seed and the same listing order the split equals CoOp's.
/// Two deliberate differences: image files are listed in sorted order (CoOp uses unsorted
/// `os.listdir`, so its split depends on the filesystem), and nothing is written back to disk.
/// Paths are relative to the image dir, as `save_split` stores them.
public enum SplitGeneration {
    /// Python's `round()` for the split sizes: round half to even.
    static func pythonRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }

    /// `read_and_split_data`: categories = sorted sub-folders minus `ignored`; per category, shuffle
    /// the files and take round(0.5n) train, round(0.2n) val, the rest test; names renamed by `renames`.
    public static func readAndSplit(imageDir: URL, ignored: Set<String> = [], renames: [String: String] = [:],
                                    random: inout CPythonRandom) throws -> (train: [DatasetItem], val: [DatasetItem], test: [DatasetItem]) {
        let categories = try FileListing.subdirectories(imageDir, "one folder of images per class").filter { !ignored.contains($0) }
        var train: [DatasetItem] = [], val: [DatasetItem] = [], test: [DatasetItem] = []
        for (label, category) in categories.enumerated() {
            var images = try FileListing.files(imageDir.appendingPathComponent(category), "the images of class \(category)")
                .map { "\(category)/\($0)" }
            random.shuffle(&images)
            let total = images.count
            let nTrain = pythonRound(Double(total) * 0.5)
            let nVal = pythonRound(Double(total) * 0.2)
            guard nTrain > 0, nVal > 0, total - nTrain - nVal > 0 else {
                throw DatasetError("\(imageDir.path)/\(category): \(total) images cannot be split 50/20/30 (each part needs one); add images or remove the folder")
            }
            let name = renames[category] ?? category
            let make = { (path: String) in DatasetItem(path: path, label: label, classname: name) }
            train += images[..<nTrain].map(make)
            val += images[nTrain..<(nTrain + nVal)].map(make)
            test += images[(nTrain + nVal)...].map(make)
        }
        return (train, val, test)
    }

    /// `OxfordPets.split_trainval`: per label (first-appearance order) shuffle the indices and send
    /// the first round(0.2n) to val, the rest to train.
    public static func splitTrainval(_ trainval: [DatasetItem], random: inout CPythonRandom) -> (train: [DatasetItem], val: [DatasetItem]) {
        var order: [Int] = []
        var groups: [Int: [Int]] = [:]
        for (index, item) in trainval.enumerated() {
            if groups[item.label] == nil { order.append(item.label) }
            groups[item.label, default: []].append(index)
        }
        var train: [DatasetItem] = [], val: [DatasetItem] = []
        for label in order {
            var indices = groups[label]!
            let nVal = pythonRound(Double(indices.count) * 0.2)
            random.shuffle(&indices)
            for (n, index) in indices.enumerated() {
                if n < nVal { val.append(trainval[index]) } else { train.append(trainval[index]) }
            }
        }
        return (train, val)
    }

    /// OxfordPets from `annotations/trainval.txt` and `test.txt` (lines "<image> <class id> <species> <breed id>");
    /// breed = image name without its trailing "_<n>", lowercased; label = class id − 1.
    static func oxfordPets(datasetDir: URL, random: inout CPythonRandom) throws -> (train: [DatasetItem], val: [DatasetItem], test: [DatasetItem]) {
        func read(_ file: String) throws -> [DatasetItem] {
            let url = datasetDir.appendingPathComponent("annotations/\(file)")
            return try FileListing.lines(url, "the Oxford-IIIT Pet annotations").enumerated().map { number, line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: false)
                guard fields.count == 4, let classID = Int(fields[1]) else {
                    throw DatasetError("\(file): line \(number + 1) is not '<image> <class id> <species> <breed id>'; use the official annotations")
                }
                let name = String(fields[0])
                let breed = name.split(separator: "_", omittingEmptySubsequences: false).dropLast().joined(separator: "_").lowercased()
                return DatasetItem(path: name + ".jpg", label: classID - 1, classname: breed)
            }
        }
        let trainval = try read("trainval.txt")
        let test = try read("test.txt")
        let (train, val) = splitTrainval(trainval, random: &random)
        return (train, val, test)
    }

    /// SUN397 from `ClassName.txt` ("/a/abbey") and `Training_01.txt` / `Testing_01.txt`
    /// ("/a/abbey/sun_x.jpg"); class "a/apartment_building/outdoor" → "outdoor apartment_building".
    static func sun397(datasetDir: URL, random: inout CPythonRandom) throws -> (train: [DatasetItem], val: [DatasetItem], test: [DatasetItem]) {
        let classes = try FileListing.lines(datasetDir.appendingPathComponent("ClassName.txt"), "the SUN397 class list")
            .map { String($0.dropFirst()) }
        var labels: [String: Int] = [:]
        for (label, name) in classes.enumerated() { labels[name] = label }
        func read(_ file: String) throws -> [DatasetItem] {
            try FileListing.lines(datasetDir.appendingPathComponent(file), "the SUN397 partition list").map { line in
                let path = String(line.dropFirst())
                let folder = (path as NSString).deletingLastPathComponent
                guard let label = labels[folder] else {
                    throw DatasetError("\(file): class '\(folder)' of '\(path)' is not in ClassName.txt; use the official partition files")
                }
                return DatasetItem(path: path, label: label, classname: sun397ClassName(folder))
            }
        }
        let trainval = try read("Training_01.txt")
        let test = try read("Testing_01.txt")
        let (train, val) = splitTrainval(trainval, random: &random)
        return (train, val, test)
    }

    /// "a/apartment_building/outdoor" → "outdoor apartment_building" (drop the letter, reverse, join with " ").
    public static func sun397ClassName(_ folder: String) -> String {
        folder.split(separator: "/", omittingEmptySubsequences: false).dropFirst().reversed().joined(separator: " ")
    }

    /// UCF101 from `ucfTrainTestlist/classInd.txt`, `trainlist01.txt`, `testlist01.txt`;
    /// images at `<Renamed_Action>/<video>.jpg`.
    static func ucf101(datasetDir: URL, random: inout CPythonRandom) throws -> (train: [DatasetItem], val: [DatasetItem], test: [DatasetItem]) {
        var labels: [String: Int] = [:]
        for line in try FileListing.lines(datasetDir.appendingPathComponent("ucfTrainTestlist/classInd.txt"), "the UCF101 class index") {
            let (number, action) = FileListing.splitFirstSpace(line)
            guard let id = Int(number) else {
                throw DatasetError("classInd.txt: line '\(line)' is not '<id> <Action>'; use the official ucfTrainTestlist")
            }
            labels[action] = id - 1
        }
        func read(_ file: String) throws -> [DatasetItem] {
            try FileListing.lines(datasetDir.appendingPathComponent("ucfTrainTestlist/\(file)"), "the UCF101 split list").map { line in
                let video = FileListing.splitFirstSpace(line).0
                let parts = video.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, let label = labels[String(parts[0])] else {
                    throw DatasetError("\(file): '\(video)' is not '<Action>/<video>.avi' with an action of classInd.txt; use the official ucfTrainTestlist")
                }
                let action = ucf101ClassName(String(parts[0]))
                let image = parts[1].replacingOccurrences(of: ".avi", with: ".jpg")
                return DatasetItem(path: "\(action)/\(image)", label: label, classname: action)
            }
        }
        let trainval = try read("trainlist01.txt")
        let test = try read("testlist01.txt")
        let (train, val) = splitTrainval(trainval, random: &random)
        return (train, val, test)
    }

    /// CamelCase words joined with "_" (`re.findall("[A-Z][^A-Z]*", action)`): ApplyEyeMakeup → Apply_Eye_Makeup.
    public static func ucf101ClassName(_ action: String) -> String {
        var words: [String] = []
        for character in action {
            if character.isASCII && character.isUppercase {
                words.append(String(character))
            } else if !words.isEmpty {
                words[words.count - 1].append(character)
            }
        }
        return words.joined(separator: "_")
    }
}
