#include "protocol/connection_string.h"

#include <gtest/gtest.h>

using namespace calling::protocol;

TEST(ConnectionString, RoundTrips)
{
    ConnectionString original{"http://127.0.0.1:4000/", "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ="};
    auto parsed = parseConnectionString(original.toString());
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->endpoint, original.endpoint);
    EXPECT_EQ(parsed->accessKey, original.accessKey);
}

TEST(ConnectionString, AcceptsAcsSpelling)
{
    auto parsed = parseConnectionString("Endpoint=https://example.test;AccessKey=aGVsbG8gd29ybGQ=;");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->endpoint, "https://example.test/");
}

TEST(ConnectionString, RefusesIncompleteOnes)
{
    EXPECT_FALSE(parseConnectionString("").ok());
    EXPECT_FALSE(parseConnectionString("endpoint=http://x/").ok());
    EXPECT_FALSE(parseConnectionString("accesskey=aGVsbG8=").ok());
    EXPECT_FALSE(parseConnectionString("endpoint=ftp://x/;accesskey=aGVsbG8=").ok());
    auto bad = parseConnectionString("endpoint=http://x/;accesskey=not base64 at all");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message.find("not base64"), std::string::npos) << "the key must not be echoed";
}
