using FsCheck.Fluent;

namespace EmDsl.Tests;

/// <summary>The property runner itself must be able to fail.</summary>
public class PropertyChecksSelfTests
{
    [Fact]
    public void AFalsePropertyFails() =>
        Assert.ThrowsAny<Exception>(() => PropertyChecks.ForAll(Gen.Choose(0, 10).ToArbitrary(), x => x < 5));

    [Fact]
    public void ATruePropertyPasses() =>
        PropertyChecks.ForAll(Gen.Choose(0, 10).ToArbitrary(), x => x <= 10);
}
