import Testing
@testable import Features
@Test func placeholder() {}
