import OccupantTesting

func profilePath(_ name: String) -> String {
    packageRoot().appendingPathComponent("firmware-profiles/\(name).yaml").path
}
