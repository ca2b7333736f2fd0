import XCTest
@testable import Hashing

final class HashingTests: XCTestCase {
    func testSHA256KnownAnswers() {
        // FIPS 180-4 examples.
        XCTAssertEqual(hexString(SHA256.digest(Array("abc".utf8))),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hexString(SHA256.digest([UInt8]())),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hexString(SHA256.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testSHA256StreamingEqualsOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var h = SHA256()
        h.update(data[0..<3]); h.update(data[3..<130]); h.update(data[130...])
        XCTAssertEqual(h.finalize(), SHA256.digest(data))
        // a million 'a': FIPS 180-4 long message
        var m = SHA256()
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { m.update(chunk) }
        XCTAssertEqual(hexString(m.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testCRC32CKnownAnswers() {
        // RFC 3720 B.4 test vectors and the common "123456789" check value.
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xff, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        let data = (0..<77).map { UInt8(truncatingIfNeeded: $0 * 13) }
        let split = data.withUnsafeBytes { raw -> UInt32 in
            let a = CRC32C.checksum(raw.baseAddress!, count: 10)
            return CRC32C.checksum(raw.baseAddress! + 10, count: 67, continuing: a)
        }
        XCTAssertEqual(split, CRC32C.checksum(data))
    }
}

final class CRC32CHardwareTests: XCTestCase {
    /// The SSE4.2 path equals the table path on random buffers of every length 0…300 at every
    /// start alignment 0…7, and when continuing from a random CRC.
    func testHardwareAndSoftwareAgree() throws {
        try XCTSkipUnless(CRC32C.usesHardware, "this CPU has no SSE4.2 crc32 instruction; only the software path runs")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let buffer = (0..<(300 + 8)).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        var checked = 0
        buffer.withUnsafeBytes { raw in
            for offset in 0..<8 {
                for length in 0...300 {
                    let p = raw.baseAddress! + offset
                    let seed = UInt32(truncatingIfNeeded: length &* 2_654_435_761)
                    XCTAssertEqual(CRC32C.hardwareChecksum(p, count: length), CRC32C.softwareChecksum(p, count: length),
                                   "offset \(offset) length \(length)")
                    XCTAssertEqual(CRC32C.hardwareChecksum(p, count: length, continuing: seed),
                                   CRC32C.softwareChecksum(p, count: length, continuing: seed))
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 8 * 301)
        // Known answer through the hardware path explicitly.
        let check = Array("123456789".utf8)
        XCTAssertEqual(check.withUnsafeBytes { CRC32C.hardwareChecksum($0.baseAddress!, count: 9) }, 0xE306_9283)
    }
}

/// FNV-1a 64 against the published test vectors.
final class FNV1a64Tests: XCTestCase {
    func testKnownAnswers() {
        for (text, expected) in [("", 0xCBF2_9CE4_8422_2325), ("a", 0xAF63_DC4C_8601_EC8C), ("foobar", 0x8594_4171_F739_67E8)] as [(String, UInt64)] {
            var hash = FNV1a64()
            hash.feed(text.utf8)
            XCTAssertEqual(hash.value, expected, text)
        }
        var bytes = FNV1a64(), word = FNV1a64()
        bytes.feed([0x01, 0x02, 0, 0, 0, 0, 0, 0x80])
        word.feedLittleEndian(0x8000_0000_0000_0201)
        XCTAssertEqual(word.value, bytes.value)
    }
}

/// SplitMix64 against its reference outputs (Vigna's splitmix64.c, seed 0).
final class SplitMix64Tests: XCTestCase {
    func testReferenceSequence() {
        var g = SplitMix64(state: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(g.next(), 0x06C4_5D18_8009_454F)
        XCTAssertEqual(SplitMix64.mix(0x9E37_79B9_7F4A_7C15), 0xE220_A839_7B1D_CDAF)
    }
}
