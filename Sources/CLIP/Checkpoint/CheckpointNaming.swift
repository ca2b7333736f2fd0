import Formats
import Kernels

/// Which key convention a checkpoint uses. `CLIPModelDirectory` detects it and `CLIPWeights`
/// presents every convention under OpenAI names.
public enum CheckpointNaming: String, Sendable {
    /// OpenAI `clip` state-dict names (`transformer.resblocks.0.attn.in_proj_weight`, `visual.*`).
    case openAI = "openai"
    /// open_clip: OpenAI names, with `text.` before the text keys in `CustomTextCLIP` models.
    case openCLIP = "open_clip"
    /// Hugging Face `CLIPModel` (`text_model.*`, `vision_model.*`, separate q/k/v).
    case huggingFace = "huggingface"

    /// True if the stored keys are Hugging Face `CLIPModel` names.
    static func looksLikeHuggingFace(_ keys: [String]) -> Bool {
        keys.contains { $0.hasPrefix("text_model.") || $0.hasPrefix("vision_model.") }
    }

    /// OpenAI-name entries for an OpenAI/open_clip file: keys as stored, `text.` stripped.
    static func openAIEntries(_ file: SafeTensorsFile) throws -> [String: CLIPWeights.Entry] {
        var entries: [String: CLIPWeights.Entry] = [:]
        for key in file.names {
            let info = file.info(key)!
            let name = key.hasPrefix("text.") ? String(key.dropFirst(5)) : key
            guard entries[name] == nil else {
                throw CheckpointError("\(file.url.path): both 'text.\(name)' and '\(name)' are stored; the checkpoint mixes two text towers")
            }
            entries[name] = CLIPWeights.Entry(source: .stored(key), shape: info.shape, storedDType: info.dtype)
        }
        return entries
    }
}
