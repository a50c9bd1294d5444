import Foundation
import OccupantCore
import OccupantTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct LocalFileSystemTests {
    let files = LocalFileSystem()

    @Test func atomicWritesReplaceWholeAndLeaveNoTemporaryFile() throws {
        let dir = try temporaryDirectory("fs-atomic").path + "/a/b"
        try files.makeDirectories(dir)
        try files.writeAtomically([1, 2, 3], to: dir + "/x")
        try files.writeAtomically([4, 5], to: dir + "/x")
        #expect(try files.read(dir + "/x") == [4, 5])
        #expect(try files.list(dir) == ["x"])
        #expect(try files.size(dir + "/x") == 2)
    }

    @Test func appendsAddToTheEnd() throws {
        let path = try temporaryDirectory("fs-append").path + "/log"
        try files.append(Array("a\n".utf8), to: path)
        try files.appendDurably(Array("b\n".utf8), to: path)
        #expect(try files.readText(path) == "a\nb\n")
        try files.remove(path)
        try files.remove(path) // a missing file is not an error
        #expect(try files.size(path) == nil)
        #expect(!files.exists(path))
    }

    @Test func errorsNameThePathAndCarryErrno() throws {
        let dir = try temporaryDirectory("fs-errors").path
        let error = try #require(throws: OccupantError.self) { try files.read(dir + "/missing") }
        #expect(error.errno == ENOENT)
        #expect(error.isNoSuchFile)
        #expect(error.fileReason == "no such file")
        #expect(error.description.contains(dir + "/missing"))
        let folder = try #require(throws: OccupantError.self) {
            try files.writeAtomically([1], to: dir + "/no/such/folder/x")
        }
        #expect(folder.errno == ENOENT)
        #expect(folder.description.contains(dir + "/no/such/folder/x"))
    }

    @Test func createNewRefusesAnExistingFileAndSetsTheMode() throws {
        let path = try temporaryDirectory("fs-create").path + "/key"
        try files.createNew(Array("secret\n".utf8), at: path, mode: 0o600)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let error = try #require(throws: OccupantError.self) { try files.createNew([1], at: path, mode: 0o600) }
        #expect(error.errno == EEXIST)
        #expect(try files.readText(path) == "secret\n")
        #expect(try files.list(String(path.dropLast(4))) == ["key"])
    }

    @Test func textThatIsNotUTF8IsRefused() throws {
        let path = try temporaryDirectory("fs-utf8").path + "/bad"
        try files.writeAtomically([0xFF, 0xFE, 0x41], to: path)
        let error = try #require(throws: OccupantError.self) { try files.readText(path) }
        #expect(error.fileReason == "not UTF-8 text")
    }
}
