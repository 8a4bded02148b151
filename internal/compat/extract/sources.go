package extract

// Sources are the gvisor.dev/gvisor module versions the database is built
// from, oldest first, copied from the project's version survey so that
// generation needs nothing beside the repository. Tag is the newest release
// tag each version contains (for the newest one, a lower bound).
var Sources = []Source{
	{Module: "v0.0.0-20191224014503-95108940a01c", Time: "2019-12-24T01:45:03Z", Tag: "release-20191213.0"},
	{Module: "v0.0.0-20200727050644-5e9c2950a570", Time: "2020-07-27T05:06:44Z", Tag: "release-20200622.1"},
	{Module: "v0.0.0-20200820232831-73c69cb4d8e7", Time: "2020-08-20T23:47:37Z", Tag: "release-20200810.0"},
	{Module: "v0.0.0-20201001012933-c4f3063255be", Time: "2020-10-01T01:29:33Z", Tag: "release-20200921.0"},
	{Module: "v0.0.0-20201204040109-0ba39926c86f", Time: "2020-12-04T04:01:09Z", Tag: "release-20201130.0"},
	{Module: "v0.0.0-20201215175918-b0f23fb7e0cf", Time: "2020-12-15T17:59:18Z", Tag: "release-20201208.0"},
	{Module: "v0.0.0-20201231175819-a04eec44052a", Time: "2020-12-31T17:58:19Z", Tag: "release-20201208.0"},
	{Module: "v0.0.0-20210106030213-99534ddb4e66", Time: "2021-01-06T03:02:13Z", Tag: "release-20201208.0"},
	{Module: "v0.0.0-20210302221541-e2599d556573", Time: "2021-03-02T22:15:41Z", Tag: "release-20210208.0"},
	{Module: "v0.0.0-20210424070529-29f85eb7ca69", Time: "2021-04-24T07:05:29Z", Tag: "release-20210419.0"},
	{Module: "v0.0.0-20210701013821-28291a5a5d25", Time: "2021-07-01T01:38:21Z", Tag: "release-20210628.0"},
	{Module: "v0.0.0-20211020211948-f76a604701b6", Time: "2021-10-20T21:19:48Z", Tag: "release-20211011.0"},
	{Module: "v0.0.0-20220121190119-4f2d380c8b55", Time: "2022-01-21T19:01:19Z", Tag: "release-20220117.0"},
	{Module: "v0.0.0-20220413182140-22e8a648b07c", Time: "2022-04-13T18:21:40Z", Tag: "release-20220411.0"},
	{Module: "v0.0.0-20220817001344-846276b3dbc5", Time: "2022-08-17T00:13:44Z", Tag: "release-20220808.0"},
	{Module: "v0.0.0-20221203005347-703fd9b7fbc0", Time: "2022-12-03T00:53:47Z", Tag: "release-20221128.0"},
	{Module: "v0.0.0-20230504175454-7b0a1988a28f", Time: "2023-05-04T17:54:54Z", Tag: "release-20230501.0"},
	{Module: "v0.0.0-20230927004350-cbd86285d259", Time: "2023-09-27T00:43:50Z", Tag: "release-20230920.0"},
	{Module: "v0.0.0-20240301005136-96d748d5c7c5", Time: "2024-03-01T00:51:36Z", Tag: "release-20240212.0"},
	{Module: "v0.0.0-20240423190808-9d7a357edefe", Time: "2024-04-23T19:08:08Z", Tag: "release-20240415.0"},
	{Module: "v0.0.0-20240916094835-a174eb65023f", Time: "2024-09-16T09:48:35Z", Tag: "release-20240826.0"},
	{Module: "v0.0.0-20250205023644-9414b50a5633", Time: "2025-02-05T10:06:31Z", Tag: "release-20250127.0"},
	{Module: "v0.0.0-20250503011706-39ed1f5ac29c", Time: "2025-05-03T02:55:27Z", Tag: "release-20250429.0"},
	{Module: "v0.0.0-20250828211149-1f30edfbb5d4", Time: "2025-08-28T21:11:49Z", Tag: "release-20250820.0"},
	{Module: "v0.0.0-20260122175437-89a5d21be8f0", Time: "2026-01-22T17:54:37Z", Tag: "release-20260112.0"},
	{Module: "v0.0.0-20260701204157-69c2d17aea96", Time: "2026-07-01T20:47:40Z", Tag: "release-20260622.0"},
	{Module: "v0.0.0-20260905035102-160fafc42237", Time: "2026-09-05T05:50:48Z", Tag: "release-20260817.0"},
}

// goSum holds the go.sum lines of the versions that are missing from the
// checksum database: "go mod download" refuses them unless their hashes are
// known, and turning verification off is not an option.
var goSum = []string{
	"gvisor.dev/gvisor v0.0.0-20200727050644-5e9c2950a570 h1:tx9stt/Xa6EOg+4J2T9XJB6OFID1UFf+zw/Gdiz79ww=",
	"gvisor.dev/gvisor v0.0.0-20200727050644-5e9c2950a570/go.mod h1:YrkOGW+qw3OZ/ZY73Tm1xuTSL3m3fS61UkdJ5nh4aMo=",
	"gvisor.dev/gvisor v0.0.0-20201231175819-a04eec44052a h1:IaC9EaWnKUou2fOveUbSg4qS+V4kDa3CNoN793tnlJE=",
	"gvisor.dev/gvisor v0.0.0-20201231175819-a04eec44052a/go.mod h1:5DEMKRjYDiM24fvDUWPjBpABm9ROMcv/kEcox3fHtm0=",
	"gvisor.dev/gvisor v0.0.0-20220413182140-22e8a648b07c h1:0Po95rQVedAugy+2envirwWXIb218sTKLMjqdt98AUk=",
	"gvisor.dev/gvisor v0.0.0-20220413182140-22e8a648b07c/go.mod h1:tWwEcFvJavs154OdjFCw78axNrsDlz4Zh8jvPqwcpGI=",
	"gvisor.dev/gvisor v0.0.0-20240301005136-96d748d5c7c5 h1:chlPwiCTfrPIckgMORJisC3pSYfy0uwbtISCzIs2oP0=",
	"gvisor.dev/gvisor v0.0.0-20240301005136-96d748d5c7c5/go.mod h1:lPeSszJkUJbAVzSULfrm2Ec2GIFe3FmHFvK17+3zRSM=",
}
